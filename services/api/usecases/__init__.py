"""The api's use cases: one function per thing a user (or the scheduler) asks for.

Each takes plain arguments and the ports it talks to (repositories, the broker link, the
relay), and raises the domain errors of services/api/errors.py; the HTTP routes, the web
UI's pages and the background workers call them, and only the routes speak HTTP.
"""
