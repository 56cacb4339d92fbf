"""PolicyVault's Azure Functions app: a table of contents, one blueprint per line."""

import azure.durable_functions as df
import azure.functions as func

from api.audit import bp as audit
from api.health import bp as health
from api.notifications import bp as notifications
from api.runs import bp as runs
from api.tenants import bp as tenants

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(health)
app.register_functions(tenants)
app.register_functions(runs)
app.register_functions(notifications)
app.register_functions(audit)
