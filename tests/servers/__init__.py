"""Real servers on 127.0.0.1 for the destination tests (FTP/FTPS, SFTP, SMTP, webhooks), started on free ports."""
