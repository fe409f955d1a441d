-- Last-seen times are kept to the day (UTC): the directory does not say
-- when each device is in use. Times written before this version are
-- coarsened here.

UPDATE devices SET last_seen_ns = last_seen_ns - (last_seen_ns % 86400000000000);
