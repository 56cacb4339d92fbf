"""What a capture or backup produces (DESIGN §5): backup sets and their items, policy
versions, and snapshot documents in blob storage."""
