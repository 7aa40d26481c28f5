"""agents.claude"""
