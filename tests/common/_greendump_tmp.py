import gc, signal, sys, traceback, greenlet
def dump(*a):
    for ob in gc.get_objects():
        if isinstance(ob, greenlet.greenlet) and ob.gr_frame is not None:
            sys.stderr.write("---- greenlet %r\n" % ob)
            sys.stderr.write("".join(traceback.format_stack(ob.gr_frame)))
    sys.stderr.write("---- current\n" + "".join(traceback.format_stack(sys._getframe(1))))
    sys.stderr.flush()
signal.signal(signal.SIGUSR1, dump)
