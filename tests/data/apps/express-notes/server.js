// A small Express service for rq-obs' tests: a mounted router, a slow route, 4xx and 5xx answers.
const express = require('express');

const app = express();
app.use(express.json());

const notes = express.Router();
notes.get('/notes/:id', (req, res) => {
  if (req.params.id === '0') return res.status(404).json({ error: 'no such note' });
  res.json({ id: req.params.id });
});
notes.post('/notes', (req, res) => res.status(201).json({ ok: true }));
app.use('/api', notes);

app.get('/slow', (req, res) => setTimeout(() => res.json({ slow: true }), 300));
app.get('/boom', (req, res) => {
  throw new TypeError('kaboom');
});
app.get('/async-boom', async (req, res) => {
  throw new RangeError('async kaboom');
});

const port = Number(process.env.PORT || 3000);
app.listen(port, '127.0.0.1', () => console.log(`notes-api listening on ${port}`));
