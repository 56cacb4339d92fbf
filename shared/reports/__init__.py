"""Tenant documentation and change reports (DESIGN §14, issue 20).

A report renders one backup set (or the difference between two) as one self-contained HTML
file or as Markdown, streamed chunk by chunk into an encrypted blob:

- :mod:`.secrets` masks secret values (``<secret>``) before anything is described;
- :mod:`.names` turns ids into names (groups, filters, scope tags, …) from the set's own items;
- :mod:`.definitions` resolves settings catalog definitions through Graph, once per id per run;
- :mod:`.describe` turns one snapshot document into rows a person reads;
- :mod:`.changes` compares two described objects setting by setting;
- :mod:`.charts` draws the "tenant at a glance" as inline SVG;
- :mod:`.html` and :mod:`.markdown` write the two formats;
- :mod:`.build` walks a set (or two) and feeds a writer; :mod:`.store` seals and stores it.
"""
