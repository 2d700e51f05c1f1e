"""The LTI 1.3 edge. The only package that imports pylti1p3; it hands out our own ``LaunchContext``. Its
Advantage faces too: the roster (NRPS), the gradebook (AGS), the registrations a platform administrator
switches, and the staff pages over them (``advantage_blueprint``)."""
