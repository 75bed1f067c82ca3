"""The buyer's side: public tracking pages under /track/. No accounts: a token or a lookup opens an order."""
