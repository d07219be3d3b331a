"""The patron's operations on an item: borrow, return, renew, place and cancel holds."""
