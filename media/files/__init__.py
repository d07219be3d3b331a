"""Files of media items: storage (local directory, S3-compatible), upload, serving."""
