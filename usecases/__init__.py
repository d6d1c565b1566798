"""The use cases the CLI and the nightly run call: the app context, setup and ingest, the demo."""
