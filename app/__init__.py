"""The Qt application: main window, controllers, the training thread bridge."""
