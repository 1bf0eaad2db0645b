"""Amazon Selling Partner: JSON_LISTINGS_FEED messages (payload), shared by the feed file writer and the SP-API
connector."""
