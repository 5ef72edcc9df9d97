"""Reads of analytics: ``filters`` (the analyst's filters and buckets), ``dashboard`` (every
metric from the derived tables), ``drilldown`` (the conversations behind a number, one
conversation with its traces) and ``export`` (CSV rows)."""
