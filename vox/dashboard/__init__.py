"""The dashboard vox serves (`/` on the worker's web server) and the read-only JSON it reads."""
