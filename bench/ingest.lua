-- wrk script: POST batches of 100 distinct events as NDJSON, so every
-- request is a real, durable append (no idempotent no-ops).
local counter, tid = 0, 0
local threads = {}

function setup(thread)
	thread:set("tid", #threads + 1)
	table.insert(threads, thread)
end

function init(args)
	tid = tonumber(wrk.thread:get("tid")) or 0
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/x-ndjson"
	wrk.headers["Authorization"] = "Bearer " .. os.getenv("PORTAL_TOKEN")
end

function request()
	counter = counter + 1
	local lines = {}
	for i = 1, 100 do
		lines[i] = string.format(
			'{"id":"w%d-%d-%d","type":"session.tool","project":"p%d","session":"s%d",' ..
			'"ts":%d,"data":{"tool":"bash","family":"shell"}}',
			tid, counter, i, i % 10, (counter * 100 + i) % 5000, 1700000000000 + counter)
	end
	return wrk.format(nil, nil, nil, table.concat(lines, "\n"))
end

function response(status, headers, body)
	if status ~= 201 then
		print("unexpected status " .. status .. ": " .. body)
	end
end
