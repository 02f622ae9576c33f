-- libe2e shared replay guard, protocol 2 (docs/GROUPS.md section 6).
--
-- One call checks authenticated messages against the group's replay
-- state and commits those it accepts, atomically: Redis runs a script to
-- its end before any other command. The rules are those of the in-memory
-- guard (docs/ENVELOPE.md section 7, docs/REPLAY-STATE.md section 1),
-- step for step.
--
-- KEYS[1]  "{PREFIX}:g"; every key is B .. ":" .. something, where the
--          base B = "{PREFIX}" is KEYS[1] without its ":g"
-- ARGV     1 protocol "2", 2 window, 3 max_senders, 4 max_retained_topics,
--          5 max_age, 6 max_skew, 7 flags (1: accept no clock),
--          8 max_retained_age, 9 now, 10 member (16 hex); then, per
--          message, 6: sender id (16 hex), seq (16 hex), timestamp, bits
--          (decimal: 1 signed, 2 retained intent, 4 delivered retained,
--          8 retry), topic digest (32 hex, "" when neither retained bit is
--          set), call token (decimal, below 2^53)
-- Returns  for one message 0 (accepted and committed) or a negative libe2e
--          error value; for several, the list of their verdicts.
--
-- Sequence numbers are 64-bit: Lua numbers are doubles, so they travel
-- and are stored as 16 lowercase hex digits, which compare as strings in
-- numeric order; differences and residues are computed from 32-bit halves.
--
-- What protocol 2 changes from 1: the commands. A call reads each state
-- it needs once (the group, the member's tokens, each sender's entry and
-- the 64-byte pieces of its window it touches), judges its messages on
-- those copies, and writes back once, at its end, what changed: one HSET
-- per sender entry and per window, instead of a SETBIT per message.

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
local member_key = B .. ':m:' .. ARGV[10]
local FIRST, PER = 10, 6 -- ARGV[FIRST + PER * i + 1 ..] is message i

local E_REPLAY, E_TOO_OLD, E_FUTURE, E_NO_TIMESTAMP = -16, -17, -18, -19
local E_NOT_RETAINED, E_STALE_RETAINED = -20, -21
local E_MISMATCH, E_PROTOCOL = -63, -66
local PIECE = 512 -- bits of a window piece (64 bytes; the last may be less)
local TOKENS = 65536 -- bits of the member's ring of tokens

local band, bor, bnot = bit.band, bit.bor, bit.bnot
local mfloor = math.floor
-- The mask of bit p in its byte is MASK[p % 8] (the most significant first).
local MASK = {[0] = 128, 64, 32, 16, 8, 4, 2, 1}

local function hi(h) return tonumber(string.sub(h, 1, 8), 16) end
local function lo(h) return tonumber(string.sub(h, 9, 16), 16) end
-- The ring position of a sequence number given as its 32-bit halves.
local wrap = 4294967296 % window
local function pos(h, l)
	return ((h % window) * wrap + l) % window
end
local function num(v) return tonumber(v or '0') or 0 end
local function clamp_now(t) if t > now then return now end return t end

-- ---- rings of bits, kept as tables of byte values ---------------------------
--
-- A ring of `size` bits (a multiple of 8) is cut into pieces of PIECE bits;
-- bit p is bit 7 - p % 8 of byte (p % PIECE) / 8 of piece p / PIECE
-- (Redis's SETBIT order). r.load(i) gives piece i's bytes as a string (""
-- or false: all zero); r.p holds the pieces read or made, r.dirty those
-- changed, and r.cleared says that the whole ring was set to zero (its
-- key is deleted before the changed pieces are written).

local function ring_new(size, load)
	return {size = size, load = load, p = {}, dirty = {}, cleared = false}
end

local function piece_len(r, i)
	return math.min(PIECE, r.size - i * PIECE) / 8
end

local function piece(r, i)
	local t = r.p[i]
	if t then return t end
	local s = (not r.cleared) and r.load(i) or ''
	local n = piece_len(r, i)
	t = {string.byte(s or '', 1, n)}
	for k = #t + 1, n do t[k] = 0 end
	r.p[i] = t
	return t
end

local function ring_get(r, p)
	local t = piece(r, mfloor(p / PIECE))
	local b = mfloor((p % PIECE) / 8) + 1
	return band(t[b], MASK[p % 8]) ~= 0
end

local function ring_set(r, p)
	local i = mfloor(p / PIECE)
	local t = piece(r, i)
	local b = mfloor((p % PIECE) / 8) + 1
	t[b] = bor(t[b], MASK[p % 8])
	r.dirty[i] = true
end

-- Every bit 0, without reading what was there.
local function ring_clear_all(r)
	r.p, r.dirty, r.cleared = {}, {}, true
end

-- Clear count (< size) bits from p on, wrapping round the ring; whole
-- pieces are replaced by zeros without being read.
local function ring_clear(r, p, count)
	while count > 0 do
		local i = math.floor(p / PIECE)
		local start = i * PIECE
		local plen = piece_len(r, i) * 8
		local n = math.min(count, start + plen - p)
		if n == plen then
			local t = {}
			for k = 1, plen / 8 do t[k] = 0 end
			r.p[i] = t
		else
			local t = piece(r, i)
			for q = p - start, p - start + n - 1 do
				local b = math.floor(q / 8) + 1
				t[b] = band(t[b], bnot(MASK[q % 8]))
			end
		end
		r.dirty[i] = true
		p = (p + n) % r.size
		count = count - n
	end
end

-- The ring's changes as HSET arguments (field, bytes) and HDEL fields (a
-- piece of zeros is deleted: absent means zero), with whether the key is
-- to be deleted first.
local function ring_changes(r)
	local set, del = {}, {}
	for i in pairs(r.dirty) do
		local t = r.p[i]
		local zero = true
		for k = 1, #t do
			if t[k] ~= 0 then zero = false break end
		end
		if not zero then
			set[#set + 1] = tostring(i)
			set[#set + 1] = string.char(unpack(t))
		elseif not r.cleared then
			del[#del + 1] = tostring(i)
		end
	end
	return set, del, r.cleared
end

-- ---- the group, the member ----------------------------------------------------

-- The group's version and sizes, floors and counter, read once per call
-- and kept here as the call's messages change them (floors and `lost` are
-- written at once, `tick` at the end). Every member of a group must size
-- the state alike, and run the same protocol.
local g = redis.call('HMGET', G, 'v', 'window', 'senders', 'topics', 'f0',
		     'f1', 'r0', 'r1', 'lost', 'tick')
local refuse = false
if not g[1] then
	redis.call('HSET', G, 'v', ARGV[1], 'window', ARGV[2], 'senders',
		   ARGV[3], 'topics', ARGV[4])
elseif g[1] ~= ARGV[1] then
	refuse = E_PROTOCOL
elseif g[2] ~= ARGV[2] or g[3] ~= ARGV[3] or g[4] ~= ARGV[4] then
	refuse = E_MISMATCH
end
local floor = {[0] = num(g[5]), [1] = num(g[6])}
local rfloor = {[0] = num(g[7]), [1] = num(g[8])}
local marks_lost = g[9] == '1'
local tick = num(g[10])
local tick_start = tick

-- The member's accepted tokens: a ring of TOKENS bits in pieces, as a
-- window (bit TOKEN mod TOKENS set when TOKEN, within mtop - TOKENS + 1 ..
-- mtop, was accepted), in the hash of the member's highest accepted token
-- `t`; read at the first retry or acceptance, written at the end.
local mtop, mring = nil, nil
local function member_ring()
	if not mring then
		mtop = num(redis.call('HGET', member_key, 't'))
		mring = ring_new(TOKENS, function(i)
			return redis.call('HGET', member_key, tostring(i))
		end)
	end
	return mring
end

local function token_accepted(t)
	local r = member_ring()
	return t <= mtop and mtop - t < TOKENS and ring_get(r, t % TOKENS)
end

local function token_record(t)
	local r = member_ring()
	if t > mtop then
		local d = t - mtop
		if d >= TOKENS then
			ring_clear_all(r)
		elseif d > 1 then
			ring_clear(r, (mtop + 1) % TOKENS, d - 1)
		end
		mtop = t
		ring_set(r, t % TOKENS)
	elseif mtop - t < TOKENS then
		ring_set(r, t % TOKENS)
	end
end

-- ---- senders --------------------------------------------------------------------

-- The sender entries this call has read, by id: {top, ts, fl, c, m} as in
-- {P}:s:ID (m: false, or the mark it was made from), with .ring its
-- window; those changed (dirty) are written back, with their score in
-- their LRU set, before an eviction reads the sets and at the end of the
-- call; windows at the end. (Membership of the LRU sets is written at once.)
local entries, dirty, windows = {}, {}, {}
local function flush()
	for id, en in pairs(dirty) do
		local skey = B .. ':s:' .. id
		if en[5] then
			redis.call('HSET', skey, 'top', en[1], 'ts', en[2], 'fl',
				   en[3], 'c', en[4], 'm', en[5])
		else
			redis.call('HSET', skey, 'top', en[1], 'ts', en[2], 'fl',
				   en[3], 'c', en[4])
		end
		redis.call('ZADD', B .. ':sl:' .. en[4], en.score, id)
	end
	dirty = {}
end

local function window_of(sid)
	local r = windows[sid]
	if not r then
		local wkey = B .. ':w:' .. sid
		r = ring_new(window, function(i)
			return redis.call('HGET', wkey, tostring(i))
		end)
		windows[sid] = r
	end
	return r
end

local function mark_of(id) return redis.call('HGET', B .. ':marks', id) end

-- The top of a known entry e as 32-bit halves, computed once per call.
local function top_num(e)
	if not e.th then e.th, e.tl = hi(e[1]), lo(e[1]) end
	return e.th, e.tl
end

-- top - seq for a known entry e and seq <= top, seq as halves (sh, sl):
-- exact below 2^53, and only ever compared with window.
local function below_top(e, sh, sl)
	local th, tl = top_num(e)
	return (th - sh) * 4294967296 + (tl - sl)
end

-- Whether seq (its halves sh, sl), within the window of entry e, was
-- accepted.
local function seen(e, sid, seq, sh, sl)
	if e[5] and seq <= e[5] then return true end
	return ring_get(window_of(sid), pos(sh, sl))
end

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

-- ---- one message ------------------------------------------------------------------

-- The retained record of the message's topic: false, or {s, q, ts, c}.
local function is_stale(r, sid, seq, ts)
	if ts ~= 0 and ts < num(r[3]) then return true end
	return r[1] == sid and seq < r[2]
end

local function topic_verdict(rec, sid, seq, ts, signed)
	if not rec then
		local f = rfloor[1]
		if not signed and rfloor[0] > f then f = rfloor[0] end
		if ts ~= 0 and ts < f then return E_STALE_RETAINED end
		return 0
	end
	if rec[1] == sid and rec[2] == seq then return E_REPLAY end
	if is_stale(rec, sid, seq, ts) then return E_STALE_RETAINED end
	return 0
end

local function seq_verdict(e, sid, seq, sh, sl, ts, signed, retained, rec)
	local top = e[1]
	if retained then
		local rc = topic_verdict(rec, sid, seq, ts, signed)
		if rc == 0 and top and seq <= top and
			below_top(e, sh, sl) < window and seen(e, sid, seq, sh, sl) then
			rc = E_REPLAY
		end
		return rc
	end
	if top then
		if seq > top then return 0 end
		if below_top(e, sh, sl) >= window or seen(e, sid, seq, sh, sl) then
			return E_REPLAY
		end
		return 0
	end
	-- A signer forgotten by eviction resumes above its mark.
	if signed then
		local m = mark_of(sid)
		if m and seq <= m then return E_REPLAY end
	end
	return 0
end

local function time_verdict(e, sid, ts, cls, retained)
	local known = e[1] ~= false
	if ts == 0 then
		if not known and not no_clock_ok then return E_NO_TIMESTAMP end
		if not known and not retained and cls == 1 and marks_lost and
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

local NO_ENTRY = {false}

local function entry_of(sid)
	local e = entries[sid]
	if e then return e end
	e = redis.call('HMGET', B .. ':s:' .. sid, 'top', 'ts', 'fl', 'c', 'm')
	if not e[1] then return NO_ENTRY end
	entries[sid] = e
	return e
end

-- The entry of a sender first seen (or seen again after its eviction).
local function entry_new(sid, cls, signed)
	local f = floor[cls]
	local SL = B .. ':sl:'
	flush() -- the victim is the least recent, as Redis has it
	local victim, v = evict(SL, max_senders, cls)
	if victim then
		local ve = redis.call('HMGET', B .. ':s:' .. victim, 'top', 'ts')
		raise('f', floor, v, num(ve[2]))
		if v == 1 then mark_raise(victim, ve[1]) end
		redis.call('DEL', B .. ':s:' .. victim, B .. ':w:' .. victim)
		entries[victim], windows[victim] = nil, nil
	end
	redis.call('ZADD', SL .. cls, tick, sid)
	-- A signer with a mark resumes with every sequence up to it seen.
	local m = signed and mark_of(sid)
	local e = {m or false, 0, f, tostring(cls), m or false}
	entries[sid] = e
	ring_clear_all(window_of(sid))
	return e
end

-- Record seq in the window, sliding it when seq is above the top; a
-- sequence below the window is not recorded.
local function window_record(e, sid, seq, sh, sl)
	local r = window_of(sid)
	local top = e[1]
	local p = pos(sh, sl)
	if not top then
		e[1], e.th, e.tl = seq, sh, sl
		ring_set(r, p)
	elseif seq > top then
		local th, tl = top_num(e)
		local d = (sh - th) * 4294967296 + (sl - tl)
		if d >= window then
			ring_clear_all(r)
		elseif d > 1 then
			-- The last position cleared is seq's own, set just below.
			ring_clear(r, (pos(th, tl) + 1) % window, d - 1)
		end
		e[1], e.th, e.tl = seq, sh, sl
		ring_set(r, p)
	elseif below_top(e, sh, sl) < window then
		ring_set(r, p)
	end
end

-- The newest retained-intent message per topic; a live message older than
-- the record leaves it as it is, and a record stays signed once signed.
local function topic_record(rec, tkey, digest, sid, seq, ts, cls, signed)
	local TL = B .. ':tl:'
	local c = cls
	if not rec then
		local victim, v = evict(TL, max_topics, cls)
		if victim then
			local vts = redis.call('HGET', B .. ':t:' .. victim, 'ts')
			raise('r', rfloor, v, num(vts))
			redis.call('DEL', B .. ':t:' .. victim)
		end
		redis.call('ZADD', TL .. c, tick, digest)
	elseif is_stale(rec, sid, seq, ts) or (rec[1] == sid and rec[2] == seq) then
		return
	elseif signed and rec[4] == '0' then
		redis.call('ZREM', TL .. '0', digest)
		redis.call('ZADD', TL .. '1', tick, digest)
	else
		c = tonumber(rec[4])
		redis.call('ZADD', TL .. c, tick, digest)
	end
	redis.call('HSET', tkey, 's', sid, 'q', seq, 'ts', clamp_now(ts), 'c', c)
end

-- One message, whose fields are ARGV[o + 1] .. ARGV[o + 6]: its verdict.
local function judge(o)
	if refuse then return refuse end
	local sid = ARGV[o + 1]
	local seq = ARGV[o + 2]
	local ts = tonumber(ARGV[o + 3])
	local bits = tonumber(ARGV[o + 4])
	local digest = ARGV[o + 5]
	local token = tonumber(ARGV[o + 6])
	local cls = bits % 2
	local signed = cls == 1
	local intent = bits % 4 >= 2
	local retained = bits % 8 >= 4
	local retry = bits >= 8

	-- A retry of a call whose answer was lost: accepted if that call was.
	if retry and token_accepted(token) then return 0 end

	-- ---- check (nothing changes) ------------------------------------------
	local e = entry_of(sid)
	local tkey, rec = nil, false
	if digest ~= '' then
		tkey = B .. ':t:' .. digest
		rec = redis.call('HMGET', tkey, 's', 'q', 'ts', 'c')
		if not rec[1] then rec = false end
	end
	if retained and not intent then return E_NOT_RETAINED end
	local sh, sl = hi(seq), lo(seq)
	local rc = seq_verdict(e, sid, seq, sh, sl, ts, signed, retained, rec)
	if rc == 0 then rc = time_verdict(e, sid, ts, cls, retained) end
	if rc ~= 0 then return rc end

	-- ---- commit --------------------------------------------------------------
	tick = tick + 1
	local max_ts = 0
	if e[1] == false and not entries[sid] then
		e = entry_new(sid, cls, signed)
	else
		if signed and e[4] == '0' then
			redis.call('ZREM', B .. ':sl:0', sid)
			redis.call('ZADD', B .. ':sl:1', tick, sid)
			e[4] = '1'
		end
		max_ts = num(e[2])
	end
	window_record(e, sid, seq, sh, sl)
	if ts > max_ts then max_ts = ts end
	e[2], e.score = max_ts, tick
	dirty[sid] = e
	if intent and digest ~= '' then
		topic_record(rec, tkey, digest, sid, seq, ts, cls, signed)
	end
	-- What this member accepted lately, for the retry of a lost answer.
	token_record(token)
	return 0
end

-- A call judges n >= 1 messages, one after the other, as n calls would;
-- one message: its verdict, several: the list of their verdicts (an
-- error in one, a key of the wrong type say, is that one's verdict).
local n = (#ARGV - FIRST) / PER
local verdicts = {}
if n == 1 then
	verdicts[1] = judge(FIRST)
else
	for i = 0, n - 1 do
		local ok, v = pcall(judge, FIRST + PER * i)
		if ok then
			verdicts[i + 1] = v
		else
			verdicts[i + 1] = redis.error_reply(tostring(v.err or v))
		end
	end
end

-- ---- write back ---------------------------------------------------------------

-- A ring's changed pieces into the hash key (with more fields to set:
-- field, value, ...).
local function ring_write(key, r, more)
	local set, del, cleared = ring_changes(r)
	if cleared then redis.call('DEL', key) end
	if #del > 0 then redis.call('HDEL', key, unpack(del)) end
	for i = 1, #more do set[#set + 1] = more[i] end
	if #set > 0 then redis.call('HSET', key, unpack(set)) end
end

flush()
for sid, r in pairs(windows) do ring_write(B .. ':w:' .. sid, r, {}) end
if tick ~= tick_start then redis.call('HSET', G, 'tick', tick) end
-- The member's tokens, with an expiry of 24 h from its last acceptance.
if mring and next(mring.dirty) then
	ring_write(member_key, mring, {'t', mtop})
	redis.call('EXPIRE', member_key, 86400)
end
if n == 1 then return verdicts[1] end
return verdicts
