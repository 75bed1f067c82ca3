"""/api/v1/ orders, returns, coupons, customers and the events feed: parse, call a service or selector, render."""
