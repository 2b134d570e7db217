from django.dispatch import Signal

# Sent by `tenant_ensure` inside the write's transaction when a tenant's carry-forward policy
# changes, since the policy decides which completions count in each course track.
# Argument: tenant_id. The tracking app queues the recount of the tenant's tracks after the commit.
tenant_carry_forward_changed = Signal()
