-- wrk script: POST /api/v1/proposals as a signed-in person (cookie and CSRF
-- token from the environment), every request a new proposal.
local counter, tid = 0, 0
local threads = {}
local bad = 0

function setup(thread)
	thread:set("tid", #threads + 1)
	table.insert(threads, thread)
end

function init(args)
	tid = tonumber(wrk.thread:get("tid")) or 0
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
	wrk.headers["Cookie"] = os.getenv("PORTAL_COOKIE")
	wrk.headers["X-CSRF-Token"] = os.getenv("PORTAL_CSRF")
end

function request()
	counter = counter + 1
	return wrk.format(nil, "/api/v1/proposals", nil, string.format(
		'{"kind":"noop","project":"bench","input":{"n":%d}}', tid * 1000000 + counter))
end

function response(status, headers, body)
	if status ~= 202 then bad = bad + 1 end
end

function done(summary, latency, requests)
	if summary.errors.status > 0 then
		io.stderr:write(string.format("non-2xx answers: %d\n", summary.errors.status))
	end
end
