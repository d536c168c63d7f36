"""Operating the installation: health and readiness, metrics, backups and retention."""
