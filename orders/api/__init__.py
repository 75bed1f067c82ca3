"""/api/v1/ orders, returns, coupons, customers and the events feed.

Each view parses, calls one service or selector, and renders."""
