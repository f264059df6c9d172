"""Reusable Qt widgets. They never import Keras: engine work reaches them through app/."""
