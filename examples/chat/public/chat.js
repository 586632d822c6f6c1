// The chat example's page: plain DOM on top of the socketspec client SDK (the
// browser bundle the server serves next to this file). The SDK reconnects by
// itself; this page shows it, and rejoins its room on every new connection
// (the example server keeps no session across connections).

const $ = (id) => document.getElementById(id)
const statusLine = $('status')
const joinForm = $('join-form')
const nameInput = $('name')
const roomInput = $('room')
const chat = $('chat')
const roomTitle = $('room-title')
const messages = $('messages')
const sendForm = $('send-form')
const textInput = $('text')
const joinError = $('join-error')

// Loaded without a top-level await: the page's 'load' event does not wait for one, and the
// forms' handlers must be in place by then (a submit before them would reload the page).
let sdk = null
const sdkLoading = import('./socketspec-client.js').then((m) => { sdk = m }, (err) => {
  setStatus('error', 'The client SDK could not be loaded (run `npm run build`)')
  throw err
})

let client = null
/** The room the user is in, or wants to be back in after a reconnect. */
let room = null
/** The connection on which `room` was joined: messages go out directly only on that one. */
let joinedOn = null
/** The join request in flight, if any. */
let joining = null
/** Messages written while not in the room (connection down, rejoin pending): sent in order once back in. */
let outbox = []
/** Set when a connection was lost, until the next one is open. */
let lost = false
let countdown
/** Display names by connection id, learnt from messages and joins (`user_left` carries only the id). */
const names = new Map()

function setStatus (state, text) {
  statusLine.dataset.state = state
  statusLine.textContent = text
}

function time (ts) {
  const el = document.createElement('time')
  const d = new Date(ts)
  el.dateTime = d.toISOString()
  el.textContent = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
  return el
}

/** Append a line to the message list and keep the newest one in view. */
function addLine (kind, text, who, ts = Date.now()) {
  const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40
  const li = document.createElement('li')
  li.className = kind
  li.append(time(ts))
  if (who !== undefined) {
    const b = document.createElement('span')
    b.className = 'who'
    b.textContent = who
    li.append(b)
  }
  li.append(text)
  messages.append(li)
  if (atBottom) messages.scrollTop = messages.scrollHeight
  return li
}

function showChat (inRoom) {
  joinForm.hidden = inRoom
  chat.hidden = !inRoom
  if (inRoom) {
    roomTitle.textContent = '#' + room
    textInput.focus()
  }
}

function onState (state, info) {
  clearInterval(countdown)
  if (state === 'open') {
    setStatus('open', lost ? 'Reconnected' : 'Connected')
    statusLine.dataset.connectionId = info.connectionId ?? ''
    if (lost) addLine('system', 'Reconnected')
    lost = false
    if (room !== null && joinedOn !== client.connectionId) enterRoom()
  } else if (state === 'reconnecting') {
    if (!lost && room !== null) addLine('system', 'Connection lost, reconnecting…')
    lost = true
    const until = Date.now() + (info.delay ?? 0)
    const tick = () => {
      const s = Math.ceil((until - Date.now()) / 1000)
      setStatus('reconnecting', s > 0 ? `Reconnecting in ${s} s (attempt ${info.attempt})` : `Reconnecting… (attempt ${info.attempt})`)
    }
    tick()
    countdown = setInterval(tick, 250)
  } else if (state === 'closed') {
    lost = true
    if (info.code === 4005) setStatus('closed', 'Disconnected after a while without messages: send one to reconnect')
    else setStatus('closed', `Disconnected (${info.error?.code ?? info.code ?? 'closed'}): reload the page to reconnect`)
  } else {
    setStatus('connecting', 'Connecting…')
  }
}

function connectAs (name) {
  const url = new URL('/ws', document.baseURI)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  url.searchParams.set('name', name)
  client = sdk.connect(url.href, {
    reconnect: { minDelay: 500, maxDelay: 5_000 }
  })
  setStatus('connecting', 'Connecting…')
  client.onState(onState)
  client.onError((err) => addLine('error', `${err.code}: ${err.message}`))
  client.on('message', (m) => {
    if (m.room !== room) return
    names.set(m.from, m.name)
    const li = addLine('message', m.text, m.name, m.ts)
    if (m.from === client.connectionId) li.classList.add('own')
  })
  client.on('user_joined', (p) => {
    names.set(p.id, p.name)
    if (p.room === room) addLine('system', `${p.name} joined`)
  })
  client.on('user_left', (p) => {
    if (p.room === room) addLine('system', `${names.get(p.id) ?? 'someone'} left`)
  })
  client.on('announcement', (p) => addLine('system', `Announcement from ${p.from}: ${p.text}`))
}

/** Join `room` on the current connection (first join, or back in after a reconnect), then send what waited. */
function enterRoom () {
  if (joining !== null) return
  const target = room
  const again = joinedOn !== null
  joining = client.request('join', { room: target }).then((reply) => {
    if (room !== target) {
      // Left before the answer came: leave on the server too.
      client.request('leave', { room: target }).catch(() => {})
      return
    }
    joinedOn = client.connectionId
    addLine('system', again ? `Back in #${target}` : `Joined #${target} (${reply.members.length} here)`)
    const waiting = outbox
    outbox = []
    for (const { text, li } of waiting) {
      li.remove()
      post(text)
    }
  }, (err) => {
    // A drop: the next connection's 'open' tries again.
    if (err.code === 'DISCONNECTED' && client.state !== 'closed') return
    if (again) {
      addLine('error', `Could not rejoin #${target}: ${err.code}: ${err.message}`)
    } else if (room === target) {
      leaveRoom()
      joinError.textContent = `Could not join #${target}: ${err.message}`
    }
  }).finally(() => { joining = null })
}

function post (text) {
  if (client.state === 'open' && joinedOn === client.connectionId) {
    try {
      client.send('send', { room, text })
    } catch (err) {
      addLine('error', `Not sent: ${err.code}: ${err.message}`)
    }
    return
  }
  outbox.push({ text, li: addLine('pending', `${text} (waiting for the connection)`, nameInput.value) })
  // After an idle close, a request is what reconnects the client.
  if (client.state === 'closed' || client.state === 'open') enterRoom()
}

function leaveRoom () {
  if (room !== null && client.state === 'open' && joinedOn === client.connectionId) {
    client.request('leave', { room }).catch(() => {})
  }
  room = null
  joinedOn = null
  outbox = []
  messages.replaceChildren()
  showChat(false)
  roomInput.focus()
}

joinForm.addEventListener('submit', (ev) => {
  ev.preventDefault()
  if (sdk === null) {
    sdkLoading.then(() => joinForm.requestSubmit(), () => {})
    return
  }
  const name = nameInput.value.trim()
  const target = roomInput.value.trim().toLowerCase()
  if (name === '' || target === '') return
  joinError.textContent = ''
  if (client === null) {
    connectAs(name)
    // The server reads the name once, when the connection opens.
    nameInput.disabled = true
  }
  room = target
  joinedOn = null
  showChat(true)
  enterRoom()
})

sendForm.addEventListener('submit', (ev) => {
  ev.preventDefault()
  const text = textInput.value.trim()
  if (text === '' || room === null) return
  textInput.value = ''
  post(text)
})

$('leave').addEventListener('click', leaveRoom)
