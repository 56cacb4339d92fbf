"""PolicyVault's Azure Functions app: a table of contents, one blueprint per line."""

import azure.durable_functions as df
import azure.functions as func

from api.health import bp as health

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(health)
