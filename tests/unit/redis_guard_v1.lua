-- libe2e shared replay guard, protocol 1 (docs/GROUPS.md).
--
-- One call checks one authenticated message against the group's replay
-- state and, when it is accepted, commits it, atomically: Redis runs a
-- script to its end before any other command. The rules are those of the
-- in-memory guard (docs/ENVELOPE.md section 7, docs/REPLAY-STATE.md
-- section 1), step for step.
--
-- KEYS[1]  "{PREFIX}:g"; every key is B .. ":" .. something, where the
--          base B = "{PREFIX}" is KEYS[1] without its ":g"
-- ARGV     1 protocol "1", 2 window, 3 max_senders, 4 max_retained_topics,
--          5 max_age, 6 max_skew, 7 flags (1: accept no clock),
--          8 max_retained_age, 9 now, 10 sender id (16 hex), 11 seq
--          (16 hex), 12 timestamp, 13 signed (0/1), 14 retained intent
--          (0/1), 15 delivered retained (0/1), 16 topic digest (32 hex, ""
--          when neither retained flag is set), 17 member (16 hex), 18 call
--          token (decimal), 19 retry (0/1)
-- Returns  0 (accepted and committed) or a negative libe2e error value.
--
-- Sequence numbers are 64-bit: Lua numbers are doubles, so they travel
-- and are stored as 16 lowercase hex digits, which compare as strings in
-- numeric order; differences and residues are computed from 32-bit halves.

local B = string.sub(KEYS[1], 1, -3)
local G = KEYS[1]
local window = tonumber(ARGV[2])
local max_senders = tonumber(ARGV[3])
local max_topics = tonumber(ARGV[4])
local max_age = tonumber(ARGV[5])
local max_skew = tonumber(ARGV[6])
local no_clock_ok = ARGV[7] == '1'
local max_retained_age = tonumber(ARGV[8])
local now = tonumber(ARGV[9])

local E_REPLAY, E_TOO_OLD, E_FUTURE, E_NO_TIMESTAMP = -16, -17, -18, -19
local E_NOT_RETAINED, E_STALE_RETAINED, E_MISMATCH = -20, -21, -63

local function hi(h) return tonumber(string.sub(h, 1, 8), 16) end
local function lo(h) return tonumber(string.sub(h, 9, 16), 16) end
-- a - b for a >= b: exact below 2^53, and only ever compared with window.
local function diff(a, b)
	return (hi(a) - hi(b)) * 4294967296 + (lo(a) - lo(b))
end
local function pos(h)
	return ((hi(h) % window) * (4294967296 % window) + lo(h)) % window
end
local function num(v) return tonumber(v or '0') or 0 end
local function clamp_now(t) if t > now then return now end return t end

-- The group's sizes, floors and counter, read once per call and kept
-- here as the call's messages change them (floors and `lost` are written
-- at once, `tick` at the end). Every member of a group must size the
-- state alike.
local g = redis.call('HMGET', G, 'v', 'window', 'senders', 'topics', 'f0',
		     'f1', 'r0', 'r1', 'lost', 'tick')
local mismatch = false
if not g[1] then
	redis.call('HSET', G, 'v', ARGV[1], 'window', ARGV[2], 'senders',
		   ARGV[3], 'topics', ARGV[4])
elseif g[1] ~= ARGV[1] or g[2] ~= ARGV[2] or g[3] ~= ARGV[3] or
	g[4] ~= ARGV[4] then
	mismatch = true
end
local floor = {[0] = num(g[5]), [1] = num(g[6])}
local rfloor = {[0] = num(g[7]), [1] = num(g[8])}
local marks_lost = g[9] == '1'
local tick = num(g[10])
local tick_start = tick
-- The members' token slots accepted by this call: key -> {field, value...}
local slots = {}
-- The sender entries this call has read, by id: {top, ts, fl, c} as in
-- {P}:s:ID; those it changed (dirty) are written back, with their score
-- in their LRU set, before an eviction reads the sets and at the end of
-- the call. (Membership of the LRU sets is written at once.)
local entries, dirty = {}, {}
local function flush()
	for id, en in pairs(dirty) do
		redis.call('HSET', B .. ':s:' .. id, 'top', en[1], 'ts', en[2],
			   'fl', en[3], 'c', en[4])
		redis.call('ZADD', B .. ':sl:' .. en[4], en.score, id)
	end
	dirty = {}
end

-- One message, whose fields are ARGV[o + 10] .. ARGV[o + 19]: its verdict.
local function judge(o)
	local sid = ARGV[o + 10]
	local seq = ARGV[o + 11]
	local ts = tonumber(ARGV[o + 12])
	local cls = tonumber(ARGV[o + 13])
	local signed = cls == 1
	local intent = ARGV[o + 14] == '1'
	local retained = ARGV[o + 15] == '1'
	local digest = ARGV[o + 16]
	local member_key = B .. ':m:' .. ARGV[o + 17]
	local token = ARGV[o + 18]

	if mismatch then return E_MISMATCH end

	-- A member's last accepted calls, by token modulo 256.
	local token_slot = tonumber(token) % 256
	-- A retry of a call whose answer was lost: accepted if that call was.
	if ARGV[o + 19] == '1' and redis.call('HGET', member_key, token_slot) == token then
		return 0
	end



	local skey = B .. ':s:' .. sid
	local wkey = B .. ':w:' .. sid
	local e = entries[sid]
	if not e then
		e = redis.call('HMGET', skey, 'top', 'ts', 'fl', 'c')
		if e[1] then entries[sid] = e end
	end
	local known = e[1] ~= false
	local top = e[1]

	local function seen(s)
		return redis.call('GETBIT', wkey, pos(s)) == 1
	end
	local function mark_of(id) return redis.call('HGET', B .. ':marks', id) end

	-- ---- check (nothing changes) -------------------------------------------

	local tkey = B .. ':t:' .. digest
	local rec = false
	if digest ~= '' then
		rec = redis.call('HMGET', tkey, 's', 'q', 'ts', 'c')
		if not rec[1] then rec = false end
	end

	local function is_stale(r)
		if ts ~= 0 and ts < num(r[3]) then return true end
		return r[1] == sid and seq < r[2]
	end

	local function topic_verdict()
		if not rec then
			local f = rfloor[1]
			if not signed and rfloor[0] > f then f = rfloor[0] end
			if ts ~= 0 and ts < f then return E_STALE_RETAINED end
			return 0
		end
		if rec[1] == sid and rec[2] == seq then return E_REPLAY end
		if is_stale(rec) then return E_STALE_RETAINED end
		return 0
	end

	local function seq_verdict()
		if retained then
			local rc = topic_verdict()
			if rc == 0 and known and seq <= top and
				diff(top, seq) < window and seen(seq) then
				rc = E_REPLAY
			end
			return rc
		end
		if known then
			if seq > top then return 0 end
			if diff(top, seq) >= window or seen(seq) then return E_REPLAY end
			return 0
		end
		-- A signer forgotten by eviction resumes above its mark.
		if signed then
			local m = mark_of(sid)
			if m and seq <= m then return E_REPLAY end
		end
		return 0
	end

	local function time_verdict()
		if ts == 0 then
			if not known and not no_clock_ok then return E_NO_TIMESTAMP end
			if not known and not retained and signed and marks_lost and
				not mark_of(sid) then
				return E_NO_TIMESTAMP
			end
			return 0
		end
		if not retained and max_age ~= 0 and now > ts and now - ts > max_age then
			return E_TOO_OLD
		end
		if retained and max_retained_age ~= 0 and now > ts and
			now - ts > max_retained_age then
			return E_TOO_OLD
		end
		if ts > now and ts - now > max_skew then return E_FUTURE end
		local f = floor[cls]
		if known then f = num(e[3]) end
		if not retained and ts <= f then return E_TOO_OLD end
		return 0
	end

	if retained and not intent then return E_NOT_RETAINED end
	local rc = seq_verdict()
	if rc == 0 then rc = time_verdict() end
	if rc ~= 0 then return rc end

	-- ---- commit ----------------------------------------------------------------

	tick = tick + 1

	-- The entry (or record) a newcomer of class c replaces in a full table:
	-- a class holding at least its share (signed: half, unsigned: the rest)
	-- gives up its own least recent one, else the other class does.
	local function evict(lru, cap, c)
		local n = {[0] = redis.call('ZCARD', lru .. '0'),
			   [1] = redis.call('ZCARD', lru .. '1')}
		if n[0] + n[1] < cap then return nil end
		local share = cap - math.floor(cap / 2)
		if c == 1 then share = math.floor(cap / 2) end
		local v = c
		if n[c] < share then v = 1 - c end
		if n[v] == 0 then v = 1 - v end
		local victim = redis.call('ZRANGE', lru .. v, 0, 0)[1]
		redis.call('ZREM', lru .. v, victim)
		return victim, v
	end

	local function raise(field, tbl, c, t)
		t = clamp_now(t)
		if t > tbl[c] then
			tbl[c] = t
			redis.call('HSET', G, field .. c, t)
		end
	end

	local function mark_raise(id, t)
		local m = mark_of(id)
		if m then
			if t > m then redis.call('HSET', B .. ':marks', id, t) end
		elseif redis.call('HLEN', B .. ':marks') >= max_senders then
			redis.call('HSET', G, 'lost', 1)
			marks_lost = true
		else
			redis.call('HSET', B .. ':marks', id, t)
		end
	end

	-- Clear count (< window) ring positions from p on, bytes at a time.
	local function ring_clear(p, count)
		while count > 0 do
			local n = math.min(count, window - p)
			local a, z = p, p + n
			while a < z and a % 8 ~= 0 do
				redis.call('SETBIT', wkey, a, 0)
				a = a + 1
			end
			local bytes = math.floor((z - a) / 8)
			if bytes > 0 then
				redis.call('SETRANGE', wkey, a / 8, string.rep('\0', bytes))
				a = a + 8 * bytes
			end
			while a < z do
				redis.call('SETBIT', wkey, a, 0)
				a = a + 1
			end
			p = (p + n) % window
			count = count - n
		end
	end

	local SL = B .. ':sl:'
	local max_ts
	if not known then
		local f = floor[cls]
		flush() -- the victim is the least recent, as Redis has it
		local victim, v = evict(SL, max_senders, cls)
		if victim then
			local ve = redis.call('HMGET', B .. ':s:' .. victim, 'top', 'ts')
			raise('f', floor, v, num(ve[2]))
			if v == 1 then mark_raise(victim, ve[1]) end
			redis.call('DEL', B .. ':s:' .. victim, B .. ':w:' .. victim)
			entries[victim] = nil
		end
		e = {false, 0, f, tostring(cls)}
		entries[sid] = e
		redis.call('ZADD', SL .. cls, tick, sid)
		local m = signed and mark_of(sid)
		-- The window is made at its full size: SETBIT would grow it in
		-- steps, each time to twice what it needs (Redis strings are greedy).
		if m then
			top = m
			redis.call('SET', wkey, string.rep('\255', window / 8))
		else
			top = seq
			redis.call('SET', wkey, string.rep('\0', window / 8))
		end
		max_ts = 0
	else
		if signed and e[4] == '0' then
			redis.call('ZREM', SL .. '0', sid)
			redis.call('ZADD', SL .. '1', tick, sid)
			e[4] = '1'
		end
		max_ts = num(e[2])
	end

	-- Record seq in the window, sliding it when seq is above the top; a
	-- sequence below the window is not recorded.
	if seq > top then
		local d = diff(seq, top)
		if d >= window then
			redis.call('SET', wkey, string.rep('\0', window / 8))
		else
			-- The last position cleared is seq's own, set just below.
			ring_clear((pos(top) + 1) % window, d - 1)
		end
		top = seq
		redis.call('SETBIT', wkey, pos(seq), 1)
	elseif diff(top, seq) < window then
		redis.call('SETBIT', wkey, pos(seq), 1)
	end
	if ts > max_ts then max_ts = ts end
	e[1], e[2], e.score = top, max_ts, tick
	dirty[sid] = e

	-- The newest retained-intent message per topic; a live message older than
	-- the record leaves it as it is, and a record stays signed once signed.
	if intent and digest ~= '' then
		local TL = B .. ':tl:'
		local c = cls
		local update = true
		if not rec then
			local victim, v = evict(TL, max_topics, cls)
			if victim then
				local vts = redis.call('HGET', B .. ':t:' .. victim, 'ts')
				raise('r', rfloor, v, num(vts))
				redis.call('DEL', B .. ':t:' .. victim)
			end
			redis.call('ZADD', TL .. c, tick, digest)
		elseif is_stale(rec) or (rec[1] == sid and rec[2] == seq) then
			update = false
		elseif signed and rec[4] == '0' then
			redis.call('ZREM', TL .. '0', digest)
			redis.call('ZADD', TL .. '1', tick, digest)
		else
			c = tonumber(rec[4])
			redis.call('ZADD', TL .. c, tick, digest)
		end
		if update then
			redis.call('HSET', tkey, 's', sid, 'q', seq, 'ts', clamp_now(ts),
				   'c', c)
		end
	end

	-- What this member accepted lately, for the retry of a lost answer
	-- (written at the end of the call).
	local l = slots[member_key]
	if not l then
		l = {}
		slots[member_key] = l
	end
	l[#l + 1] = token_slot
	l[#l + 1] = token
	return 0
end

-- A call judges n >= 1 messages, one after the other, as n calls would;
-- one message: its verdict, several: the list of their verdicts (an
-- error in one, a key of the wrong type say, is that one's verdict).
local n = (#ARGV - 9) / 10
local verdicts = {}
if n == 1 then
	verdicts[1] = judge(0)
else
	for i = 0, n - 1 do
		local ok, v = pcall(judge, 10 * i)
		if ok then
			verdicts[i + 1] = v
		else
			verdicts[i + 1] = redis.error_reply(tostring(v.err or v))
		end
	end
end
flush()
if tick ~= tick_start then redis.call('HSET', G, 'tick', tick) end
-- The expiry is set when a slot is new (a new key, or one of its first 256
-- calls), and so 24 h after the key was filled.
for key, l in pairs(slots) do
	if redis.call('HSET', key, unpack(l)) > 0 then
		redis.call('EXPIRE', key, 86400)
	end
end
if n == 1 then return verdicts[1] end
return verdicts
