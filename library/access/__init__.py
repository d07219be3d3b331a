"""Access to a loan's files: signed, expiring download and stream links, and the personalised
watermark of downloaded EPUBs (issue 12)."""
