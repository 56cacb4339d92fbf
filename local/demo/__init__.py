"""The demo (``scripts/demo``, ``python -m local.demo``): the whole product on one machine.

Azurite, the Graph + Entra ID simulator and the local Functions runtime serving
``function_app.py`` start in this process (``local.stack.running_stack``); the demo then calls
the HTTP API as an MSP's engineers would and prints every call it makes. ``console`` formats,
``scenario`` holds the story, ``__main__`` parses options and turns failures into exit codes.
"""
