"""c2hunt offline runner: run the app's saved searches and commands without Splunk."""
