"""The infrastructure every feature stands on: settings, the database and its models, Redis,
the file store, logs, fonts, and the checks on what people type and upload."""
