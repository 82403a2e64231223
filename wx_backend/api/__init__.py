"""The Tencent Cloud API 3.0 surface (POST /): signature, QPS, billing, and the registered actions."""
