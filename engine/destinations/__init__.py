"""Destinations: where finished export files are delivered (S3, FTP/FTPS, SFTP, email, webhook), one module each."""
