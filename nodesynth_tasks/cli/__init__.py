"""The `nodesynth` command line: `main.py` builds the app, one module per command or group."""
