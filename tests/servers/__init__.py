"""Real servers on 127.0.0.1 for the tests, on free ports: the session's Redis and PostgreSQL (session), and the
destination servers (FTP/FTPS, SFTP, SMTP, webhooks)."""
