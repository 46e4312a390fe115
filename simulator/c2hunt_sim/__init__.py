"""c2hunt telemetry simulator (generators of labelled synthetic telemetry)."""
