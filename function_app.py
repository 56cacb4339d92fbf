"""PolicyVault's Azure Functions app: a table of contents, one blueprint per line."""

import azure.durable_functions as df
import azure.functions as func

from activities.deploy import bp as deploy_activities
from activities.drift import bp as drift_activities
from activities.offboarding import bp as offboarding_activities
from activities.purge import bp as purge_activities
from activities.reports import bp as report_activities
from activities.restore import bp as restore_activities
from activities.runs import bp as run_activities
from activities.snapshots import bp as snapshot_activities
from api.audit import bp as audit
from api.backups import bp as backups
from api.deployments import bp as deployments
from api.documents import bp as documents
from api.drift import bp as drift
from api.health import bp as health
from api.notifications import bp as notifications
from api.offboardings import bp as offboardings
from api.reports import bp as reports
from api.restores import bp as restores
from api.runs import bp as runs
from api.snapshots import bp as snapshots
from api.tenants import bp as tenants
from api.webhooks import bp as webhooks
from orchestrators.backup_tenant import bp as backup_orchestrations
from orchestrators.capture_snapshot import bp as capture_orchestration
from orchestrators.check_drift import bp as drift_orchestration
from orchestrators.offboard_tenant import bp as offboard_orchestration
from orchestrators.purge_expired import bp as purge_orchestration
from orchestrators.purge_tenant import bp as tenant_purge_orchestration
from orchestrators.render_report import bp as report_orchestration
from orchestrators.restore import bp as restore_orchestration
from queues.webhook_delivery import bp as webhook_delivery
from timers.purge_tick import bp as purge_tick
from timers.repair_sweep import bp as repair_sweep
from timers.schedule_tick import bp as schedule_tick

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
# HTTP API (DESIGN §3)
app.register_functions(health)
app.register_functions(documents)
app.register_functions(tenants)
app.register_functions(runs)
app.register_functions(notifications)
app.register_functions(audit)
app.register_functions(snapshots)
app.register_functions(backups)
app.register_functions(restores)
app.register_functions(deployments)
app.register_functions(drift)
app.register_functions(webhooks)
app.register_functions(offboardings)
app.register_functions(reports)

# Orchestrations and the activities they call
app.register_functions(capture_orchestration)
app.register_functions(backup_orchestrations)
app.register_functions(restore_orchestration)
app.register_functions(drift_orchestration)
app.register_functions(purge_orchestration)
app.register_functions(tenant_purge_orchestration)
app.register_functions(offboard_orchestration)
app.register_functions(report_orchestration)
app.register_functions(run_activities)
app.register_functions(snapshot_activities)
app.register_functions(restore_activities)
app.register_functions(deploy_activities)
app.register_functions(drift_activities)
app.register_functions(purge_activities)
app.register_functions(offboarding_activities)
app.register_functions(report_activities)

# Timers: start what tenants' schedules say is due (DESIGN §10)
app.register_functions(schedule_tick)

# Queues: webhook deliveries and their retries (DESIGN §13)
app.register_functions(webhook_delivery)
# Timers: the daily retention purge (DESIGN §12)
app.register_functions(purge_tick)
# Timers: restart or fail runs whose orchestration is missing, failed or terminated
app.register_functions(repair_sweep)
