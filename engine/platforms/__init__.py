"""Sales platforms (Amazon now; Shopify, WooCommerce, PrestaShop and Odoo next): per platform, the pure payload
builders shared by its feed writer and its API connector."""
