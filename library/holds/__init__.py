"""Holds (Vormerkungen): a FIFO queue per item; a ready hold reserves a copy for a while."""
