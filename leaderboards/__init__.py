"""tycoon.leaderboards"""
