# Nameko needs eventlet's monkey patch before anything else is imported.
import eventlet

eventlet.monkey_patch()  # noqa: E402
