"""tycoon.agents"""
