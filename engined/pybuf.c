/*
 * pybuf.c - message buffers crossing into and out of Python, and how
 * long their memory lives (Python thread only).
 *
 * In: a request's raw buffers (apply arguments, pushed values, data-path
 * pushes) become the memory of objects the user keeps: ipyparallel
 * builds numpy arrays on them with frombuffer, without a copy, and those
 * arrays live on in the namespace long after the request is done and its
 * frames are released (pyshell.c, at the request's end).  So a buffer is
 * handed over as a memoryview of a _engined.Frame, an object that holds
 * its own zmq_msg_t made with zmq_msg_copy: no bytes are copied, libzmq
 * counts the references (atomically, so the request's own copy may be
 * closed at any time), and the data is freed when the last holder closes.
 * The memoryview holds the Frame, every memoryview or array made from it
 * holds the one before, so the memory stays until the last Python object
 * built on it is gone.  Each received part has a block of its own
 * (ipp_zctx_new), so a small array kept holds its own bytes, not the
 * libzmq receive batch it came in.  The buffer is writable, as pyzmq's
 * frames are for ipengine: the request is ours alone once received.
 *
 * Out: a reply's buffers (apply results, pulled values, display data)
 * are copied once into messages libzmq allocates and owns, while the
 * Python object is held: a send may complete long after the object is
 * gone, so zmq must never be given memory that Python can free.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <string.h>

#include "engined.h"

struct frame {
	PyObject_HEAD
	zmq_msg_t	 msg;		/* a reference to the request's part */
};

static int
frame_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
	struct frame *f = (struct frame *)self;

	/* view->obj takes a reference to self: the Frame outlives the view */
	return PyBuffer_FillInfo(view, self, zmq_msg_data(&f->msg),
	    (Py_ssize_t)zmq_msg_size(&f->msg), 0, flags);
}

static void
frame_dealloc(PyObject *self)
{
	struct frame *f = (struct frame *)self;

	zmq_msg_close(&f->msg);
	Py_TYPE(self)->tp_free(self);
}

static PyBufferProcs frame_as_buffer = {
	.bf_getbuffer = frame_getbuffer,
};

static PyTypeObject frame_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "_engined.Frame",
	.tp_basicsize = sizeof(struct frame),
	.tp_dealloc = frame_dealloc,
	.tp_as_buffer = &frame_as_buffer,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "One part of a received message; its buffer lives as long "
	    "as this object does.",
};

/* Module init: make the type ready and name it in the module. */
int
pybuf_init(PyObject *module)
{
	if (PyType_Ready(&frame_type) == -1)
		return -1;
	Py_INCREF(&frame_type);
	if (PyModule_AddObject(module, "Frame", (PyObject *)&frame_type) ==
	    -1) {
		Py_DECREF(&frame_type);
		return -1;
	}
	return 0;
}

/*
 * Part i of fr as a memoryview that keeps the part's memory alive for as
 * long as it, or anything built on it, exists.  NULL with a Python
 * exception on failure.
 */
PyObject *
pybuf_request(const struct ipp_frames *fr, int i)
{
	struct frame *f;
	PyObject *mv;

	if (i < 0 || i >= fr->n) {
		PyErr_SetString(PyExc_IndexError, "no such message part");
		return NULL;
	}
	if ((f = PyObject_New(struct frame, &frame_type)) == NULL)
		return NULL;
	zmq_msg_init(&f->msg);
	if (zmq_msg_copy(&f->msg, &fr->f[i]) == -1) {
		PyErr_Format(PyExc_MemoryError, "cannot keep message part: %s",
		    zmq_strerror(errno));
		Py_DECREF(f);
		return NULL;
	}
	mv = PyMemoryView_FromObject((PyObject *)f);
	Py_DECREF(f);		/* the memoryview holds it now */
	return mv;
}

/*
 * Append the bytes of obj (bytes, memoryview, array: anything with the
 * buffer protocol) to fr as a copy that libzmq owns.  -1 with a Python
 * exception when obj has no buffer or memory is short.
 */
int
pybuf_add(struct ipp_frames *fr, PyObject *obj)
{
	Py_buffer v;
	PyObject *b;
	Py_ssize_t len;
	int rc;

	if (PyObject_GetBuffer(obj, &v, PyBUF_SIMPLE) == 0) {
		len = v.len;
		rc = ipp_frames_add(fr, v.buf, (size_t)len);
		PyBuffer_Release(&v);
	} else if (PyObject_CheckBuffer(obj)) {
		/* a buffer that is not contiguous: bytes() gathers it */
		PyErr_Clear();
		if ((b = PyBytes_FromObject(obj)) == NULL)
			return -1;
		len = PyBytes_GET_SIZE(b);
		rc = ipp_frames_add(fr, PyBytes_AS_STRING(b), (size_t)len);
		Py_DECREF(b);
	} else
		return -1;	/* PyObject_GetBuffer said why */
	if (rc == -1)
		PyErr_Format(PyExc_MemoryError, "cannot make a message part "
		    "of %zd bytes: %s", len, strerror(errno));
	return rc;
}
