#!/usr/bin/env python
"""Django's command line for the bench's Django Channels target (bench/django/): the bench runs
`manage.py migrate` on a fresh SQLite file before every start of Daphne."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbench.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
