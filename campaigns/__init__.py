"""Campaigns: compose posts into editions with sponsor and disclaimer blocks, render once."""
