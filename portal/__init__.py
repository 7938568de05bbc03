"""The portal: providers send returns and read their feedback; contract managers take the quarter's return.

A Flask application factory (``portal.app.create_app``) over the domain modules (accounts, uploads, overview,
decisions, audit): the views only check who may see what, call those modules and render GOV.UK Design System
templates.
"""
