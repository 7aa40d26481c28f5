"""cli.commands"""
