from django.dispatch import Signal

# Sent by `tenant_ensure` inside the write's transaction when a tenant's carry-forward policy
# changes, since the policy decides which completions count in each course track.
# Argument: tenant_id. The tracking app recounts the tenant's tracks.
tenant_carry_forward_changed = Signal()
