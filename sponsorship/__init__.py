"""The sponsor desk: sponsors, inventory (placements, dated slots), bookings, creative
intake and approval, and the report a sponsor sees. Free of web, task and terminal code."""
