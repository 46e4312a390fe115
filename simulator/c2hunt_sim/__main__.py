import sys

from c2hunt_sim.generate import main

sys.exit(main())
