"""Licences: what the library bought for an item, which licence a loan takes, free copies."""
