-- A destination's due callbacks in due order (issue 16): the dispatcher refills the queue of a destination it is
-- busy with by claiming from this index, instead of walking every other destination's backlog in `callbacks_due`.
CREATE INDEX callbacks_endpoint_due ON callbacks (endpoint, due_at) WHERE state = 'pending';
